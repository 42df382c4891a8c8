{#-
    The dates a cell's ZE access is judged on, as rows: `current` (its month start, current_rule_date) and
    `next_change` (the next rule or zone change, next_rule_date; where none is known the row is left out, as
    UNPIVOT leaves out nulls). int_ze_access_cells joins the rules to these rows once; fct_ze_access counts
    per scenario from them.
-#}
{% macro ze_scenario_rows(relation) %}
    unpivot {{ relation }}
    on current_rule_date as "current", next_rule_date as next_change
    into
        name scenario
        value rule_date
{% endmacro %}
