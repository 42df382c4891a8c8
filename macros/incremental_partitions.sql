{#-
    Incremental builds keyed by municipality and month.

    Every harmonised model and fact holds, per municipality-month, the rows of exactly one delivery: the one
    that flows (base_cbs__flowing_deliveries). So the delivery_id of a partition says whether it is up to date,
    and what changed is worked out from the warehouse itself, with no state kept anywhere else:

    - stale: deliveries whose rows are in the model but that no longer flow (superseded by a correction,
      quarantined in favour of the last good one, or a month that disappeared), plus, with `drift`,
      deliveries whose rows carry attributes of a dimension "as last delivered" that has changed since;
    - changed: deliveries that flow but are not in the model (a new month, a correction, the last good
      delivery taking over again), plus the drifted ones.

    A model becomes incremental with one line: its import CTE filters on `changed_partitions()`, e.g.

        cells as (
            select * from {{ ref('int_passages_hourly') }}
            where {{ changed_partitions() }}
        ),

    The macro configures the model (incremental, append, a pre-hook deleting the stale deliveries) and
    renders the filter: `true` on a full build, otherwise `delivery_id in (<constants>)`, constants so that
    DuckDB pushes the filter down through the staging views into the raw table scans.

    `drift` (optional): {'relation': 'dim_location', 'key': 'location_code', 'columns': {'zone_code': 'zone_code'}}
    (model column -> relation column): rows whose attributes differ from the relation's now are rebuilt.
    Seeds and other reference data are not tracked: after changing them, run `anpr build --full-refresh`.
-#}
{% macro changed_partitions(drift=none) -%}
    {{- config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ delete_stale_partitions() }}",
        meta=({'partitioned_by_delivery': true, 'partition_drift': drift} if drift else {'partitioned_by_delivery': true}),
    ) -}}
    {%- if execute and model.resource_type == 'model' and is_incremental() -%}
        {%- set ids = partition_changes(model.config.meta.get('partition_drift'))['changed'] -%}
        {%- if ids -%}
            delivery_id in ({{ quoted_list(ids) }})
        {%- else -%}
            false
        {%- endif -%}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}


{#- Pre-hook of an incremental partitioned model: deletes the rows of stale deliveries. -#}
{% macro delete_stale_partitions() -%}
    {%- if is_incremental() -%}
        {%- set ids = partition_changes(model.config.meta.get('partition_drift'))['stale'] -%}
        {%- if ids -%}
            delete from {{ this }} where delivery_id in ({{ quoted_list(ids) }})
        {%- else -%}
            select 1 as nothing_stale
        {%- endif -%}
    {%- else -%}
        select 1 as full_build
    {%- endif -%}
{%- endmacro %}


{#-
    {'stale': [...], 'changed': [...]}: delivery ids, sorted (see the top of this file).

    Asked once per model per dbt invocation: a model's body may filter several import CTEs on
    `changed_partitions()` and its pre-hook needs the stale ones, and each ask used to be a query over the whole
    model (~4 per model per build). The answer is kept in the graph context (the one dict dbt shares between the
    renderings of a run), keyed by invocation and model, so a process that runs dbt again never reuses it. Nothing
    writes to the model between its compilation (body) and its pre-hook, so both see the same answer.
-#}
{% macro partition_changes(drift=none) %}
    {%- set cache = graph.setdefault('anpr_partition_changes', {}) -%}
    {%- set key = invocation_id ~ '/' ~ model.unique_id -%}
    {%- if key not in cache -%}
        {%- do cache.update({key: query_partition_changes(drift)}) -%}
    {%- endif -%}
    {{ return(cache[key]) }}
{% endmacro %}


{#- The query behind partition_changes (uncached). -#}
{% macro query_partition_changes(drift=none) %}
    {#-
        The flowing deliveries by name, not ref(): every partitioned model reads staging views, which ref them
        (so dbt builds them first), and a ref here would have to be mocked in every unit test.
    -#}
    {%- set flowing_node = graph.nodes['model.anpr_warehouse.base_cbs__flowing_deliveries'] -%}
    {%- set flowing = api.Relation.create(flowing_node.database, flowing_node.schema, flowing_node.alias) -%}
    {%- set query -%}
        with

        stored as (
            select distinct delivery_id from {{ this }}
        ),

        flowing as (
            select delivery_id from {{ flowing }}
        ),

        drifted as (
            {%- if drift %}
            select distinct stored_rows.delivery_id
            from {{ this }} as stored_rows
            left join (
                select distinct
                    {{ drift['key'] }},
                    {%- for relation_column in drift['columns'].values() %}
                    {{ relation_column }}{{ "," if not loop.last }}
                    {%- endfor %}
                from {{ ref(drift['relation']) }}
            ) as now_known
                on stored_rows.{{ drift['key'] }} = now_known.{{ drift['key'] }}
            where
                {%- for model_column, relation_column in drift['columns'].items() %}
                stored_rows.{{ model_column }} is distinct from now_known.{{ relation_column }}
                {{- " or" if not loop.last }}
                {%- endfor %}
            {%- else %}
            select delivery_id from stored where false
            {%- endif %}
        )

        select 'stale' as change, delivery_id
        from stored
        where
            delivery_id not in (select delivery_id from flowing)
            or delivery_id in (select delivery_id from drifted)
        union all
        select 'changed' as change, delivery_id
        from flowing
        where
            delivery_id not in (select delivery_id from stored)
            or delivery_id in (select delivery_id from drifted)
        order by 1, 2
    {%- endset -%}
    {%- set changes = {'stale': [], 'changed': []} -%}
    {%- for row in run_query(query) -%}
        {%- do changes[row[0]].append(row[1]) -%}
    {%- endfor -%}
    {{ return(changes) }}
{% endmacro %}


{#- SQL string literals of the values, comma-separated (quotes doubled). -#}
{% macro quoted_list(values) -%}
    {%- for value in values %}'{{ value | replace("'", "''") }}'{{ ", " if not loop.last }}{% endfor -%}
{%- endmacro %}


{#-
    The `drift` of a fact that carries a camera location's attributes "as last delivered" (its zone, its
    direction) from dim_location: `changed_partitions(drift=location_drift(['zone_code']))`. Why one macro: six
    facts copy these attributes, and a rule written out six times drifts apart; the snapshot (snapshot_tables.py)
    reads the same dict from the model's meta, so the build and the publish always agree on what is stale.
    `columns`: the fact's columns, named as in dim_location.
-#}
{% macro location_drift(columns) %}
    {%- set mapped = {} -%}
    {%- for column in columns -%}
        {%- do mapped.update({column: column}) -%}
    {%- endfor -%}
    {{ return({'relation': 'dim_location', 'key': 'location_code', 'columns': mapped}) }}
{% endmacro %}
