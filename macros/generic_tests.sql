{#- Generic data tests for the domain rules. dbt packages cannot be fetched here, so they live in macros.
    A failing row carries the model's row so `anpr build` can tell which delivery failed. -#}

{#- The combination of columns is unique (a seed's grain; a model's is a rule of its column_rules). -#}
{% test unique_combination(model, combination_of_columns) %}
select {{ combination_of_columns | join(', ') }}, count(*) as occurrences
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{% endtest %}

{#- Enacted ZE rules never overlap: one status per category, class, first-admission year and day. -#}
{% test no_overlapping_rules(model) %}
select first_rule.rule_id, second_rule.rule_id as overlapping_rule_id
from {{ model }} as first_rule
inner join {{ model }} as second_rule
    on
        first_rule.rule_id < second_rule.rule_id
        and first_rule.vehicle_category_code = second_rule.vehicle_category_code
        and first_rule.emission_class_code = second_rule.emission_class_code
        and first_rule.first_admission_from <= second_rule.first_admission_to
        and second_rule.first_admission_from <= first_rule.first_admission_to
        and first_rule.valid_from <= coalesce(second_rule.valid_to, date '9999-12-31')
        and second_rule.valid_from <= coalesce(first_rule.valid_to, date '9999-12-31')
where first_rule.is_enacted and second_rule.is_enacted
{% endtest %}

{#-
    Every data rule of a model, in one test node: not-null columns, accepted values, values that match their
    cell status, values on the delivery's rounding base, references to a dimension, no licence plate, unique
    columns and combinations of columns (the grain), CBS's totals present.

    Why one test: as one dbt node per column and rule they were ~320 nodes, each costing dbt ~30-50 ms of its
    own besides its scan, most of a month's incremental build. The meanings are those of the single tests:
    - `not_null`: fails on a null;
    - `accepted_values`: fails on a value outside the list and passes a null (strings are quoted as dbt does;
      numbers are compared as numbers, dbt's `quote: false`);
    - `cell_values` ({value column: status column}): a cell that is not published has no value, and a
      published cell has one (a null status is not judged here);
    - `rounded` (columns): a value is a multiple of its delivery's `sdc_rounding_base` (deliveries without SDC
      parameters, and null values, are skipped); the failing row then carries `delivery_rounding_base`;
    - `relationships` ({column: {to: model, field: column, where: condition}}): a value that is not null
      has its row in the model `to` (dbt's relationships; `where` limits the rule to rows matching it);
    - `no_licence_plate` (columns): no value looks like a Dutch licence plate (side codes 1-14, dashed or not;
      GMdddd and FAdddd are contract identifiers);
    - `unique` (columns): dbt's unique, nulls aside;
    - `unique_combination` (lists of columns, or {columns: [...], where: condition}): the combination occurs
      once (nulls count as a value);
    - `ids` ({id column: [grain columns]}): an id that is the md5 of exactly the grain's columns
      (macros/surrogate_key.sql: codes and dates joined by '|', which none of them contains). Two rows with
      one id have one grain and two grains give two ids (md5 collisions aside), so on an incremental build
      the grain is counted among every row (a unique combination) and the id among the new rows only (a
      duplicate id in a new delivery still fails). This spares a month the scan and hash of every id of the
      fact (the most expensive test of a month): for a grain of dates and codes DuckDB skips the row groups
      of other months. A full build counts the id among every row, as dbt's unique;
    - `total_present` (list of {total_columns, group_by}): every group has exactly one row that is CBS's
      total (T001) over all of `total_columns`.
    A failing row is the model's row plus `failed_rules`, naming each rule it broke, e.g.
    `cell_status: not_null; zone_code: relationships (dim_zone.zone_code)`, so `anpr build` still finds its
    delivery.

    The register (for `rounded`) is joined in with its two columns renamed (`anpr_delivery_id`,
    `anpr_rounding_base`): a rule's `where` is plain SQL on the model's columns, and a register column of the
    same name (`delivery_id`, `municipality_code`...) would make it ambiguous, or answer it when the model lacks
    the column.

    `every_row` and `cells` are read by several rules: `not materialized` keeps DuckDB from writing the whole
    model to memory once for all of them (on a full build of the hourly fact it halved the test's time).

    Which rows: on an incremental build of a model partitioned by delivery (macros/get_where_subquery.sql)
    the rows of the new deliveries (`new_delivery_rows()`, a filter DuckDB pushes down to the table scans);
    a uniqueness rule counts each of their keys among every row of the model, so a new row colliding with an
    old one fails. Otherwise every row.
-#}
{% test column_rules(
    model, not_null=[], accepted_values={}, cell_values={}, rounded=[], relationships={}, no_licence_plate=[],
    unique=[], unique_combination=[], ids={}, total_present=[]
) %}
{%- set new_rows = new_delivery_rows() if execute else none -%}
{%- set keys = [] -%}{#- (columns, where, rule, counted among every row) -#}
{%- for column in unique -%}
    {%- do keys.append(([column], column ~ ' is not null', column ~ ': unique', true)) -%}
{%- endfor -%}
{%- for key in unique_combination -%}
    {%- set columns = key['columns'] if key is mapping else key -%}
    {%- do keys.append((
        columns, key.get('where', '') if key is mapping else '', '(' ~ (columns | join(', ')) ~ '): unique_combination', true
    )) -%}
{%- endfor -%}
{%- for column, grain in ids.items() -%}
    {#- every row is read (a full build): the id among them all, as dbt's unique; else the grain against every row -#}
    {%- do keys.append(([column], column ~ ' is not null', column ~ ': unique (an id of ' ~ (grain | join(', ')) ~ ')', false)) -%}
    {%- if new_rows and grain not in unique_combination -%}
        {%- do keys.append((grain, '', '(' ~ (grain | join(', ')) ~ '): unique_combination', true)) -%}
    {%- endif -%}
{%- endfor -%}
{%- set checks = [] -%}
{%- for column in not_null -%}
    {%- do checks.append(('cells.' ~ column ~ ' is null', column ~ ': not_null')) -%}
{%- endfor -%}
{%- for column, values in accepted_values.items() -%}
    {%- set listed = [] -%}
    {%- for value in values -%}
        {%- do listed.append(value if value is number else "'" ~ (value | replace("'", "''")) ~ "'") -%}
    {%- endfor -%}
    {%- do checks.append((
        'cells.' ~ column ~ ' not in (' ~ (listed | join(', ')) ~ ')',
        column ~ ': accepted_values (' ~ (values | join(', ')) ~ ')',
    )) -%}
{%- endfor -%}
{%- for column, status_column in cell_values.items() -%}
    {%- do checks.append((
        "(cells." ~ status_column ~ " <> 'published' and cells." ~ column ~ " is not null)"
        ~ " or (cells." ~ status_column ~ " = 'published' and cells." ~ column ~ " is null)",
        column ~ ': value_matches_cell_status (' ~ status_column ~ ')',
    )) -%}
{%- endfor -%}
{%- for column in rounded -%}
    {%- do checks.append((
        'cells.' ~ column ~ ' % deliveries.anpr_rounding_base <> 0',
        column ~ ': multiple_of_rounding_base',
    )) -%}
{%- endfor -%}
{%- for column, parent in relationships.items() -%}
    {%- do checks.append((
        ('(' ~ parent['where'] ~ ') and ' if parent.get('where') else '')
        ~ 'cells.' ~ column ~ ' is not null and not exists (select 1 from ' ~ ref(parent['to']) ~ ' as parent'
        ~ ' where parent.' ~ parent['field'] ~ ' = cells.' ~ column ~ ')',
        column ~ ': relationships (' ~ parent['to'] ~ '.' ~ parent['field'] ~ ')',
    )) -%}
{%- endfor -%}
{%- for column in no_licence_plate -%}
    {%- do checks.append((looks_like_licence_plate('cells.' ~ column), column ~ ': no_licence_plate')) -%}
{%- endfor -%}
{%- for columns, where, rule, everywhere in keys -%}
    {%- set matches = [] -%}
    {%- for column in columns -%}
        {%- do matches.append('duplicates.' ~ column ~ ' is not distinct from cells.' ~ column) -%}
    {%- endfor -%}
    {%- do checks.append((
        ('(' ~ where ~ ') and ' if where else '')
        ~ 'exists (select 1 from duplicate_keys_' ~ loop.index ~ ' as duplicates where ' ~ (matches | join(' and ')) ~ ')',
        rule,
    )) -%}
{%- endfor -%}
{%- for totals in total_present -%}
    {%- set matches = [] -%}
    {%- for column in totals['group_by'] -%}
        {%- do matches.append('groups.' ~ column ~ ' is not distinct from cells.' ~ column) -%}
    {%- endfor -%}
    {%- do checks.append((
        'exists (select 1 from groups_without_one_total_' ~ loop.index ~ ' as groups where ' ~ (matches | join(' and ')) ~ ')',
        '(' ~ (totals['group_by'] | join(', ')) ~ '): total_present (' ~ (totals['total_columns'] | join(', ')) ~ ')',
    )) -%}
{%- endfor -%}
with

every_row as not materialized (
    select * from {{ model }}
),

cells as not materialized (
    select * from every_row
    {%- if new_rows %}
    where {{ new_rows }}
    {%- endif %}
),
{%- for columns, where, rule, everywhere in keys %}

duplicate_keys_{{ loop.index }} as (
    {%- if everywhere and new_rows %}
    select {{ columns | join(', ') }}
    from every_row as candidate
    where
        exists (
            select 1 from cells
            where
                {%- for column in columns %}
                cells.{{ column }} is not distinct from candidate.{{ column }}{{ " and" if not loop.last }}
                {%- endfor %}
        )
        {%- if where %}
        and ({{ where }})
        {%- endif %}
    {%- else %}
    select {{ columns | join(', ') }}
    from cells
    {%- if where %}
    where {{ where }}
    {%- endif %}
    {%- endif %}
    group by {{ columns | join(', ') }}
    having count(*) > 1
),
{%- endfor %}
{%- for totals in total_present %}

groups_without_one_total_{{ loop.index }} as (
    select {{ totals['group_by'] | join(', ') }}
    from cells
    group by {{ totals['group_by'] | join(', ') }}
    having
        count(*) filter (
            where {% for column in totals['total_columns'] %}{{ column }} = 'T001'{{ " and " if not loop.last }}{% endfor %}
        ) <> 1
),
{%- endfor %}

checked as (
    select
        cells.*,
        {%- if rounded %}
        deliveries.anpr_rounding_base as delivery_rounding_base,
        {%- endif %}
        {%- for condition, rule in checks %}
        coalesce({{ condition }}, false) as anpr_rule_{{ loop.index }},
        {%- endfor %}
    from cells
    {%- if rounded %}
    {#- only these two columns, renamed: a rule's `where` above names the model's columns, never the register's #}
    left join (
        select
            delivery_id as anpr_delivery_id,
            sdc_rounding_base as anpr_rounding_base,
        from {{ source('cbs', 'cbs_deliveries') }}
    ) as deliveries
        on cells.delivery_id = deliveries.anpr_delivery_id
    {%- endif %}
),

failing as (
    select
        * exclude ({% for check in checks %}anpr_rule_{{ loop.index }}{{ ", " if not loop.last }}{% endfor %}),
        concat_ws(
            '; ',
            {%- for condition, rule in checks %}
            case when anpr_rule_{{ loop.index }} then '{{ rule | replace("'", "''") }}' end{{ "," if not loop.last }}
            {%- endfor %}
        ) as failed_rules
    from checked
    where
        {%- for check in checks %}
        anpr_rule_{{ loop.index }}{{ " or" if not loop.last }}
        {%- endfor %}
)

select * from failing
{% endtest %}


{#- Whether a text looks like a Dutch licence plate (side codes 1-14, dashed or not): a SQL boolean expression. -#}
{% macro looks_like_licence_plate(expression) -%}
{%- set groups = [
    ['[A-Z]{2}', '[0-9]{2}', '[0-9]{2}'], ['[0-9]{2}', '[0-9]{2}', '[A-Z]{2}'], ['[0-9]{2}', '[A-Z]{2}', '[0-9]{2}'],
    ['[A-Z]{2}', '[0-9]{2}', '[A-Z]{2}'], ['[A-Z]{2}', '[A-Z]{2}', '[0-9]{2}'], ['[0-9]{2}', '[A-Z]{2}', '[A-Z]{2}'],
    ['[0-9]{2}', '[A-Z]{3}', '[0-9]'], ['[0-9]', '[A-Z]{3}', '[0-9]{2}'], ['[A-Z]{2}', '[0-9]{3}', '[A-Z]'],
    ['[A-Z]', '[0-9]{3}', '[A-Z]{2}'], ['[A-Z]{3}', '[0-9]{2}', '[A-Z]'], ['[A-Z]', '[0-9]{2}', '[A-Z]{3}'],
    ['[0-9]', '[A-Z]{2}', '[0-9]{3}'], ['[0-9]{3}', '[A-Z]{2}', '[0-9]'],
] -%}
{%- set dashed = [] -%}{%- set plain = [] -%}
{%- for g in groups %}{% do dashed.append(g | join('-')) %}{% do plain.append(g | join('')) %}{% endfor -%}
list_bool_or([
    regexp_matches(token, '(^|[^A-Z0-9])({{ dashed | join("|") }})($|[^A-Z0-9])')
    or list_bool_or([
        regexp_full_match(part, '{{ plain | join("|") }}') and not regexp_full_match(part, '(GM|FA)[0-9]{4}')
        for part in string_split(token, '-')
    ])
    for token in regexp_split_to_array(upper(cast({{ expression }} as varchar)), '[^A-Z0-9-]+')
])
{%- endmacro %}
