{#-
    Whether a data test keeps its failing rows (dbt_project.yml: as views in schema test_failures).

    Keeping them costs every test a drop, a create view and a commit, about half of a test's time on an
    incremental build, and the rows are only read when a test fails. So `anpr build` runs its tests with
    var `anpr_store_failures: false` and runs only the failing ones again with it true, before it reads
    their rows to quarantine deliveries (anpr_warehouse/build.py). `dbt build` by hand keeps dbt's
    behaviour (the project's config).
-#}
{% macro should_store_failures() -%}
    {%- if not var('anpr_store_failures', true) -%}{{ return(false) }}{%- endif -%}
    {{- return(dbt.should_store_failures()) -}}
{%- endmacro %}
