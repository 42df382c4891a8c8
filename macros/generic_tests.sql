{#- Generic data tests for the domain rules. dbt packages cannot be fetched here, so they live in macros.
    A failing row carries the model's row (or its grain) so `anpr build` can tell which delivery failed. -#}

{#- No value that looks like a Dutch licence plate (side codes 1-14, dashed or not). GMdddd and FAdddd are contract identifiers. -#}
{% test no_licence_plate(model, column_name) %}
{%- set groups = [
    ['[A-Z]{2}', '[0-9]{2}', '[0-9]{2}'], ['[0-9]{2}', '[0-9]{2}', '[A-Z]{2}'], ['[0-9]{2}', '[A-Z]{2}', '[0-9]{2}'],
    ['[A-Z]{2}', '[0-9]{2}', '[A-Z]{2}'], ['[A-Z]{2}', '[A-Z]{2}', '[0-9]{2}'], ['[0-9]{2}', '[A-Z]{2}', '[A-Z]{2}'],
    ['[0-9]{2}', '[A-Z]{3}', '[0-9]'], ['[0-9]', '[A-Z]{3}', '[0-9]{2}'], ['[A-Z]{2}', '[0-9]{3}', '[A-Z]'],
    ['[A-Z]', '[0-9]{3}', '[A-Z]{2}'], ['[A-Z]{3}', '[0-9]{2}', '[A-Z]'], ['[A-Z]', '[0-9]{2}', '[A-Z]{3}'],
    ['[0-9]', '[A-Z]{2}', '[0-9]{3}'], ['[0-9]{3}', '[A-Z]{2}', '[0-9]'],
] -%}
{%- set dashed = [] -%}{%- set plain = [] -%}
{%- for g in groups %}{% do dashed.append(g | join('-')) %}{% do plain.append(g | join('')) %}{% endfor -%}
with tokens as (
    select
        *,
        unnest(regexp_split_to_array(upper(cast({{ column_name }} as varchar)), '[^A-Z0-9-]+')) as token
    from {{ model }}
    where {{ column_name }} is not null
)
select * from tokens
where
    regexp_matches(token, '(^|[^A-Z0-9])({{ dashed | join("|") }})($|[^A-Z0-9])')
    or (
        list_bool_or([
            regexp_full_match(part, '{{ plain | join("|") }}') and not regexp_full_match(part, '(GM|FA)[0-9]{4}')
            for part in string_split(token, '-')
        ])
    )
{% endtest %}

{#-
    The contract's minimum totals are there: every group has exactly one row that is CBS's total (T001)
    over all of `total_columns` (T01: the category total per location-hour; T02: the total over categories
    and fuels per location-date; T03-T06: the total over every dimension but the zone). Any further
    total combination (full cube, nested, ...) is CBS's choice and is not required: totals are never re-derived.
-#}
{% test total_present(model, total_columns, group_by) %}
select {{ group_by | join(', ') }}
from {{ model }}
group by {{ group_by | join(', ') }}
having
    count(*) filter (
        where {% for column in total_columns %}{{ column }} = 'T001'{{ " and " if not loop.last }}{% endfor %}
    ) <> 1
{% endtest %}

{#- The combination of columns is unique (the grain of the model). -#}
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
    Every column rule of a model, in one scan and one test node: not-null columns, accepted values, values
    that match their cell status, values that are multiples of the delivery's SDC rounding base.

    Why one test: as one dbt node per column and rule (not_null, accepted_values, value_matches_cell_status,
    multiple_of_rounding_base) they were ~210 nodes, each costing dbt ~30-50 ms of its own besides its scan,
    most of a month's incremental build. The meanings are unchanged:
    - `not_null`: fails on a null;
    - `accepted_values`: fails on a value outside the list and passes a null (strings are quoted as dbt does;
      numbers are compared as numbers, dbt's `quote: false`);
    - `cell_values` ({value column: status column}): a cell that is not published has no value, and a
      published cell has one (a null status is not judged here);
    - `rounded` (columns): a value is a multiple of its delivery's `sdc_rounding_base` (deliveries without SDC
      parameters, and null values, are skipped); the failing row then carries `delivery_rounding_base`.
    A failing row is the model's row plus `failed_rules`, naming each column and rule it broke, e.g.
    `cell_status: not_null; delivery_id: not_null`, so `anpr build` still finds its delivery.
-#}
{% test column_rules(model, not_null=[], accepted_values={}, cell_values={}, rounded=[]) %}
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
        'cells.' ~ column ~ ' % deliveries.sdc_rounding_base <> 0',
        column ~ ': multiple_of_rounding_base',
    )) -%}
{%- endfor -%}
select
    cells.*,
    {%- if rounded %}
    deliveries.sdc_rounding_base as delivery_rounding_base,
    {%- endif %}
    concat_ws(
        '; ',
        {%- for condition, rule in checks %}
        case when {{ condition }} then '{{ rule | replace("'", "''") }}' end{{ "," if not loop.last }}
        {%- endfor %}
    ) as failed_rules
from {{ model }} as cells
{%- if rounded %}
left join {{ source('cbs', 'cbs_deliveries') }} as deliveries
    on cells.delivery_id = deliveries.delivery_id
{%- endif %}
where
    {%- for condition, rule in checks %}
    ({{ condition }}){{ " or" if not loop.last }}
    {%- endfor %}
{% endtest %}
