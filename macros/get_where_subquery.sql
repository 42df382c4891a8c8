{#-
    What a generic data test reads (dbt calls this macro for every generic test; this one replaces dbt's own).

    dbt's `where` config is kept. On an incremental build (`anpr build` or `dbt build` without --full-refresh;
    `dbt test` by hand tests everything) a test of a
    model holding cells of deliveries (the incremental partitioned models, see incremental_partitions.sql,
    and the staging views of observations, locations and zones) reads only the rows of the flowing
    deliveries that no build has passed yet: rows of a delivery that passed an earlier build were tested
    then and cannot fail by themselves (the same rule anpr build applies when it quarantines). The delivery
    ids are rendered as constants, so DuckDB pushes the filter down to the raw table scans. `anpr build`
    works them out once and passes them as var `anpr_new_deliveries` (a query per test cost more than
    many of the tests themselves); `dbt build` by hand asks the register, once per test.

    A uniqueness test must still see every row that could collide with a new one: it reads every row whose
    key also occurs in the new rows. A relationships test filters only its child rows; its parent is read
    whole. A full build (`--full-refresh`) tests everything.

    `column_rules` (generic_tests.sql) gets the model whole and picks the new rows itself: its uniqueness
    rules count the new rows' keys among every row, its other rules look at the new rows only.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}{%- do conditions.append(where) -%}{%- endif -%}
    {%- set scopes_itself = (model.get('test_metadata') or {}).get('name') == 'column_rules' -%}
    {%- set new_rows = new_delivery_rows() if execute and not scopes_itself else none -%}
    {%- if new_rows is none -%}
        {%- set scoped = conditions -%}
    {%- else -%}
        {%- set keys = uniqueness_key() -%}
        {%- if keys -%}
            {%- set matches = [] -%}
            {%- for key in keys -%}
                {%- do matches.append('new_rows.' ~ key ~ ' is not distinct from candidate.' ~ key) -%}
            {%- endfor -%}
            {%- set scoped = conditions + [
                'exists (select 1 from ' ~ relation ~ ' as new_rows where new_rows.' ~ new_rows
                ~ ' and ' ~ (matches | join(' and ')) ~ ')'
            ] -%}
        {%- else -%}
            {%- set scoped = conditions + [new_rows] -%}
        {%- endif -%}
    {%- endif -%}
    {%- if scoped -%}
        {%- set filtered -%}
            (select * from {{ relation }} as candidate where {{ scoped | join(' and ') }})
        {%- endset -%}
        {{- return(filtered) -}}
    {%- else -%}
        {{- return(relation) -}}
    {%- endif -%}
{%- endmacro %}


{#-
    `delivery_id in (...)` naming the new deliveries when this test may look at them only, or none: on a
    full refresh, for tests of other models, and for the register's own models.
-#}
{% macro new_delivery_rows() -%}
    {%- if flags.WHICH != 'build' or flags.FULL_REFRESH or not model.get('attached_node') -%}{{ return(none) }}{%- endif -%}
    {%- set tested = graph.nodes.get(model.attached_node) -%}
    {%- if tested is none or tested.resource_type != 'model' or 'delivery_id' not in tested.columns -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set per_delivery = tested.config.meta.get('partitioned_by_delivery')
        or (tested.fqn[1] == 'staging' and tested.name not in ['stg_cbs__deliveries', 'base_cbs__flowing_deliveries']) -%}
    {%- if not per_delivery -%}{{ return(none) }}{%- endif -%}
    {%- set ids = var('anpr_new_deliveries', none) -%}
    {%- if ids is none -%}
        {%- set never_built -%}
            select delivery_id from raw.cbs_deliveries where status = 'current' and build_status is null order by 1
        {%- endset -%}
        {%- set ids = run_query(never_built).columns[0].values() -%}
    {%- endif -%}
    {%- if not ids -%}{{ return('delivery_id is null and false') }}{%- endif -%}
    {{ return('delivery_id in (' ~ quoted_list(ids) ~ ')') }}
{%- endmacro %}


{#- The columns whose values must be unique, when this test is a uniqueness test. -#}
{% macro uniqueness_key() -%}
    {%- set metadata = model.get('test_metadata') or {} -%}
    {%- set kwargs = metadata.get('kwargs', {}) -%}
    {%- if metadata.get('name') == 'unique' -%}
        {{ return([kwargs.get('column_name')]) }}
    {%- elif metadata.get('name') == 'unique_combination' -%}
        {{ return(kwargs.get('combination_of_columns')) }}
    {%- endif -%}
    {{ return([]) }}
{%- endmacro %}
