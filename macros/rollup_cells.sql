{#-
    One roll-up of published CBS cells to a coarser grain, shared by the daily and monthly facts
    (fct_passages_daily, fct_fuel_totals_daily, fct_passages_monthly, fct_fuel_totals_monthly).

    Why one macro: every roll-up must add the same way, or the coarse facts stop giving the answers of the
    cells they come from. `passages` is the sum of the published values (sum skips nulls: an unpublished cell
    adds nothing, exactly as a sum over the finer fact does; null when nothing is published), and
    `confidential_cells` counts the confidential cells inside, so a row with any is a lower bound, never complete.
    Nothing new is computed: every value is a sum of published cells.

    relation: the CTE or relation to roll up; keys: the columns kept (grouped by, in this order);
    cell_count: the name of the column counting the finest cells added up; cells: how to count them
    (`count(*)` over the finest fact, `sum(<cell_count>)` over an already rolled-up one).
-#}
{% macro rollup_cells(relation, keys, cell_count, cells='count(*)') -%}
    select
        {%- for key in keys %}
            {{ key }},
        {%- endfor %}
        cast(sum(passages) as bigint) as passages,
        cast(sum(confidential_cells) as integer) as confidential_cells,
        cast({{ cells }} as integer) as {{ cell_count }},
        source_layout
    from {{ relation }}
    group by all
{%- endmacro %}
