{#-
    A zone-month fact from a harmonised CBS zone table: keys, total flags per dimension,
    both measures with their statuses, and confidential-cell counters that travel with every sum.
-#}
{% macro zone_fact(harmonised_model, key_name, dimensions, extra_columns=[]) %}
{%- set key_columns = ['cells.zone_code', 'cells.month_start'] -%}
{%- for dimension in dimensions %}{% do key_columns.append('cells.' ~ dimension) %}{% endfor -%}
with

cells as (
    select * from {{ ref(harmonised_model) }}
),

categories as (
    select * from {{ ref('ref_vehicle_categories') }}
),

final as (
    select
        {{ surrogate_key(key_columns) }}
            as {{ key_name }},
        cells.delivery_id,
        cells.municipality_code,
        cells.period_code,
        cells.month_start,
        cells.zone_code,
        {%- for dimension in dimensions %}
        cells.{{ dimension }},
        cells.{{ dimension }} = 'T001' as is_{{ dimension | replace('_code', '') }}_total,
        {%- endfor %}
        coalesce(categories.is_logistics, false) as is_logistics,
        {%- for column in extra_columns %}
        {{ column }},
        {%- endfor %}
        cells.passages,
        cells.passages_status,
        cells.vehicles,
        cells.vehicles_status,
        case when cells.passages_status = 'confidential' then 1 else 0 end as confidential_passage_cells,
        case when cells.vehicles_status = 'confidential' then 1 else 0 end as confidential_vehicle_cells
    from cells
    left join categories
        on cells.vehicle_category_code = categories.vehicle_category_code
)

select * from final
{% endmacro %}
