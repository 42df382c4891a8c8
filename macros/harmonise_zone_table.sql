{#-
    One row per zone-month cell of a CBS zone table (T03..T06): the two measures side by side,
    each with its own cell status. Dimension codes are already the contract's identifiers.
    A harmonised model is one call of harmonise_zone_table; a fact can also pivot its staging model itself
    (zone_fact on a `stg_` model), so a zone table that needs nothing else harmonised needs no int_ model.
-#}
{% macro harmonise_zone_table(staging_model, dimensions) %}
with

observations as (
    select * from {{ ref(staging_model) }}
    where {{ changed_partitions() }}
),

pivoted as (
    {{ zone_table_cells('observations', dimensions) }}
)

select * from pivoted
{% endmacro %}


{#- The select that pivots staged observations (`relation`) to one row per cell with both measures. -#}
{% macro zone_table_cells(relation, dimensions) %}
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
    from {{ relation }}
    group by
        delivery_id,
        municipality_code,
        period_code,
        month_start,
        {%- for dimension in dimensions %}
        {{ dimension }}{{ "," if not loop.last }}
        {%- endfor %}
{% endmacro %}
