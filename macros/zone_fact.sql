{#-
    A zone-month fact from a harmonised CBS zone table: keys, total flags per dimension,
    both measures with their statuses, and confidential-cell counters that travel with every sum.

    `views` (name -> dimensions kept as detail) adds one flag `in_view_<name>` per view: true on the
    delivered rows that give the figure per those dimensions, summed over every other dimension.
    Which total combinations CBS delivers differs per table and delivery (full cube, nested, or only
    the minimum), so per zone-month the view takes the delivered combination of totals that needs the
    fewest rows: CBS's own total where it exists, otherwise the finest delivered rows, whose sum then
    carries its confidential cells (a lower bound). A missing total is never made up as a row.
-#}
{% macro zone_fact(harmonised_model, key_name, dimensions, views={}, extra_columns=[]) %}
{%- set key_columns = ['cells.zone_code', 'cells.month_start'] -%}
{%- for dimension in dimensions %}{% do key_columns.append('cells.' ~ dimension) %}{% endfor -%}
with

harmonised as (
    select * from {{ ref(harmonised_model) }}
),

categories as (
    select * from {{ ref('ref_vehicle_categories') }}
),

cells as (
    select
        harmonised.*,
        {% for dimension in dimensions -%}
        case when harmonised.{{ dimension }} = 'T001' then 'T' else 'D' end{{ " ||" if not loop.last }}
        {% endfor -%}
        as total_pattern
    from harmonised
),
{%- for view_name, detail_dimensions in views.items() %}

{{ view_name }}_candidates as (
    select distinct
        zone_code,
        month_start,
        total_pattern,
        length(total_pattern) - length(replace(total_pattern, 'T', '')) as totals_kept
    from cells
    where
        {% for dimension in detail_dimensions -%}
        {{ dimension }} <> 'T001'{{ " and" if not loop.last }}
        {% endfor %}
),

{{ view_name }}_ranked as (
    select
        zone_code,
        month_start,
        total_pattern,
        row_number() over (
            partition by zone_code, month_start
            order by totals_kept desc, total_pattern desc
        ) as preference
    from {{ view_name }}_candidates
),

{{ view_name }}_chosen as (
    select
        zone_code,
        month_start,
        total_pattern
    from {{ view_name }}_ranked
    where preference = 1
),
{%- endfor %}

final as (
    select
        {{ surrogate_key(key_columns) }}
            as {{ key_name }},
        cells.delivery_id,
        cells.municipality_code,
        cells.period_code,
        cells.month_start,
        cells.zone_code,
        {%- for dimension in dimensions %}
        cells.{{ dimension }},
        cells.{{ dimension }} = 'T001' as is_{{ dimension | replace('_code', '') }}_total,
        {%- endfor %}
        {%- for view_name in views %}
        {{ view_name }}_chosen.total_pattern is not null as in_view_{{ view_name }},
        {%- endfor %}
        coalesce(categories.is_logistics, false) as is_logistics,
        {%- for column in extra_columns %}
        {{ column }},
        {%- endfor %}
        cells.passages,
        cells.passages_status,
        cells.vehicles,
        cells.vehicles_status,
        case when cells.passages_status = 'confidential' then 1 else 0 end as confidential_passage_cells,
        case when cells.vehicles_status = 'confidential' then 1 else 0 end as confidential_vehicle_cells
    from cells
    left join categories
        on cells.vehicle_category_code = categories.vehicle_category_code
    {%- for view_name in views %}
    left join {{ view_name }}_chosen
        on
            cells.zone_code = {{ view_name }}_chosen.zone_code
            and cells.month_start = {{ view_name }}_chosen.month_start
            and cells.total_pattern = {{ view_name }}_chosen.total_pattern
    {%- endfor %}
)

select * from final
{% endmacro %}
