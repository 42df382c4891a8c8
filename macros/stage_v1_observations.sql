{#-
    Staging for one CBS v1 observation table (T01..T06): rename, cast, decode.
    `dimensions` maps each delivered dimension column to its warehouse name and SQL type expression.
    Only rows of current deliveries flow on.
-#}
{% macro stage_v1_observations(source_table, dimensions) %}
with

source as (
    select * from {{ source('cbs', source_table) }}
),

current_deliveries as (
    select * from {{ ref('base_cbs__flowing_deliveries') }}
),

renamed as (
    select
        source.delivery_id,
        current_deliveries.municipality_code,
        current_deliveries.period_code,
        current_deliveries.period_start as month_start,
        source.line_number,
        source.measure as measure_code,
        {%- for column, target in dimensions.items() %}
        {{ target[1] | replace('$', 'source.' ~ column) }} as {{ target[0] }},
        {%- endfor %}
        {{ cbs_value('source.value') }} as cell_value,
        {{ cbs_cell_status('source.valueattribute') }} as cell_status
    from source
    inner join current_deliveries
        on source.delivery_id = current_deliveries.delivery_id
)

select * from renamed
{% endmacro %}
