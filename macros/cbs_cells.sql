{#- Decoding of CBS cells, shared by every staging and harmonised model. -#}

{#- The deliveries that flow on: the current (not superseded) one per municipality and month. -#}
{% macro current_deliveries() %}
    select
        delivery_id,
        municipality_code,
        period_code,
        period_start,
        layout,
        sdc_rounding_base
    from {{ source('cbs', 'cbs_deliveries') }}
    where status = 'current'
{% endmacro %}

{#- CBS ValueAttribute -> cell status: published, confidential, impossible or unknown. -#}
{% macro cbs_cell_status(value_attribute) -%}
    case {{ value_attribute }}
        when 'None' then 'published'
        when 'Confidential' then 'confidential'
        when 'Impossible' then 'impossible'
        when 'Unknown' then 'unknown'
    end
{%- endmacro %}

{#- A delivered value as a number; empty means unknown (null), never zero. -#}
{% macro cbs_value(value) -%}
    cast(nullif({{ value }}, '') as bigint)
{%- endmacro %}

{#- Legacy cell: '.' is secret or unknown, treated as confidential. -#}
{% macro legacy_cell_status(value) -%}
    case when {{ value }} = '.' then 'confidential' else 'published' end
{%- endmacro %}

{% macro legacy_value(value) -%}
    cast(nullif({{ value }}, '.') as bigint)
{%- endmacro %}
