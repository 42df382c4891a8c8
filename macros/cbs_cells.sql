{#- Decoding of CBS cells, shared by every staging and harmonised model. -#}

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

{#-
    Clock hours in a local (Europe/Amsterdam) day: 23 on the last Sunday of March (02:00 is skipped),
    25 on the last Sunday of October (02:00-03:00 is lived twice, delivered once as H02), else 24.
    EU summer time rule, in force since 1996.
-#}
{% macro clock_hours_in_day(day) -%}
    case
        when month({{ day }}) = 3 and isodow({{ day }}) = 7 and day({{ day }}) >= 25 then 23
        when month({{ day }}) = 10 and isodow({{ day }}) = 7 and day({{ day }}) >= 25 then 25
        else 24
    end
{%- endmacro %}

{#- The hour label that does not exist: H02 on the spring DST day (last Sunday of March). -#}
{% macro is_spring_gap(day, hour_of_day) -%}
    ({{ hour_of_day }} = 2 and month({{ day }}) = 3 and isodow({{ day }}) = 7 and day({{ day }}) >= 25)
{%- endmacro %}

{#- Clock hours behind one delivered hour label: 0 for the skipped spring H02, 2 for the doubled autumn H02, else 1. -#}
{% macro clock_hours_in_label(day, hour_of_day) -%}
    case
        when {{ hour_of_day }} = 2 then {{ clock_hours_in_day(day) }} - 23
        else 1
    end
{%- endmacro %}
