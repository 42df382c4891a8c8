{#- A stable row key from several columns (md5 of their values joined by '|'). -#}
{% macro surrogate_key(columns) -%}
    md5(concat_ws('|', {% for column in columns %}coalesce(cast({{ column }} as varchar), '~'){{ ", " if not loop.last }}{% endfor %}))
{%- endmacro %}
