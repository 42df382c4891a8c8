{#-
    One row per zone-month cell of a CBS zone table (T03..T06): the two measures side by side,
    each with its own cell status. Dimension codes are already the contract's identifiers.
-#}
{% macro harmonise_zone_table(staging_model, dimensions) %}
with

observations as (
    select * from {{ ref(staging_model) }}
    where {{ changed_partitions() }}
),

pivoted as (
    select
        delivery_id,
        municipality_code,
        period_code,
        month_start,
        {%- for dimension in dimensions %}
        {{ dimension }},
        {%- endfor %}
        max(cell_value) filter (where measure_code = 'M_PASSAGES') as passages,
        max(cell_status) filter (where measure_code = 'M_PASSAGES') as passages_status,
        max(cell_value) filter (where measure_code = 'M_VEHICLES') as vehicles,
        max(cell_status) filter (where measure_code = 'M_VEHICLES') as vehicles_status
    from observations
    group by
        delivery_id,
        municipality_code,
        period_code,
        month_start,
        {%- for dimension in dimensions %}
        {{ dimension }}{{ "," if not loop.last }}
        {%- endfor %}
)

select * from pivoted
{% endmacro %}
