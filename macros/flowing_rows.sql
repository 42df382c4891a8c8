{#-
    The rows of a raw CBS table that flow on: joined to base_cbs__flowing_deliveries (the one definition of
    which delivery counts per municipality and month), with that delivery's municipality, period and month in
    front of the raw columns. The one place staging joins a raw table to the deliveries; every staging model
    of a delivery file selects from it, so none joins two sources.
-#}
{% macro flowing_rows(source_name, table_name) %}
    select
        raw_rows.delivery_id,
        flowing_deliveries.municipality_code,
        flowing_deliveries.period_code,
        flowing_deliveries.period_start as month_start,
        raw_rows.* exclude (delivery_id)
    from {{ source(source_name, table_name) }} as raw_rows
    inner join {{ ref('base_cbs__flowing_deliveries') }} as flowing_deliveries
        on raw_rows.delivery_id = flowing_deliveries.delivery_id
{% endmacro %}
