{#-
    Legacy files are wide: one text column per vehicle category or fuel. This turns them long,
    one row per (key columns, legacy column) with the column's name and its cell, ready to be
    mapped to standard codes through ref_legacy_code_map.
-#}
{% macro unpivot_legacy_columns(relation, key_columns, value_columns) %}
    {%- for column in value_columns %}
        {%- if not loop.first %}
            union all
        {%- endif %}
        select
            {%- for key in key_columns %}
            {{ key }},
            {%- endfor %}
            '{{ column }}' as legacy_column,
            {{ column }} as legacy_cell
        from {{ relation }}
    {%- endfor %}
{% endmacro %}
