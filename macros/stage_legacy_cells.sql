{#-
    Staging for a wide legacy file (passages per hour, passages per fuel): one row per data row and wide
    column, `legacy_column` naming the column in lower case (as ref_legacy_code_map's words, lowered) and
    `legacy_cell` holding its text ('.' = secret or unknown). `keys` maps each raw key column to its warehouse
    name and SQL expression ('$' stands for the column). Every other column of the raw table is a value
    column: DuckDB's UNPIVOT takes them from the table (whose header is the contract's, contract.py), so no
    list of vehicle categories or fuels is written in SQL. The loader refuses empty values (integers or '.'),
    so UNPIVOT leaving out NULL cells leaves out nothing.
-#}
{% macro stage_legacy_cells(source_table, keys) %}
with

long_cells as (
    unpivot ({{ flowing_rows('cbs_legacy', source_table) }})
    on columns(* exclude (
        delivery_id, municipality_code, period_code, month_start, line_number, {{ keys | join(', ') }}
    ))
    into
        name legacy_column
        value legacy_cell
),

renamed as (
    select
        delivery_id,
        municipality_code,
        period_code,
        month_start,
        line_number,
        {%- for column, target in keys.items() %}
        {{ target[1] | replace('$', column) }} as {{ target[0] }},
        {%- endfor %}
        lower(legacy_column) as legacy_column,
        legacy_cell
    from long_cells
)

select * from renamed
{% endmacro %}
