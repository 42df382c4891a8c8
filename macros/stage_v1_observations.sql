{#-
    Staging for one CBS v1 observation table (T01..T06): rename, cast, decode.
    `dimensions` maps each delivered dimension column to its warehouse name and SQL type expression.
    Only rows of current deliveries flow on (flowing_rows).
-#}
{% macro stage_v1_observations(source_table, dimensions) %}
with

source as (
    {{ flowing_rows('cbs', source_table) }}
),

renamed as (
    select
        source.delivery_id,
        source.municipality_code,
        source.period_code,
        source.month_start,
        source.line_number,
        source.measure as measure_code,
        {%- for column, target in dimensions.items() %}
        {{ target[1] | replace('$', 'source.' ~ column) }} as {{ target[0] }},
        {%- endfor %}
        {{ cbs_value('source.value') }} as cell_value,
        {{ cbs_cell_status('source.valueattribute') }} as cell_status
    from source
)

select * from renamed
{% endmacro %}
