{#-
    A zone-month fact from a harmonised CBS zone table (`int_` model), or straight from its staging model
    (`stg_` model: the measures are pivoted here, as harmonise_zone_table does): keys, total flags per dimension,
    both measures with their statuses, and confidential-cell counters that travel with every sum.

    `views` (name -> dimensions kept as detail) adds one flag `in_view_<name>` per view: true on the
    delivered rows that give the figure per those dimensions, summed over every other dimension.
    Which total combinations CBS delivers differs per table and delivery (full cube, nested, or only
    the minimum), so per zone-month the view takes the delivered combination of totals that needs the
    fewest rows: CBS's own total where it exists, otherwise the finest delivered rows, whose sum then
    carries its confidential cells (a lower bound). A missing total is never made up as a row.
    Rows are only added up over a dimension when the delivery holds every code of the dimension's code
    list for every combination of the others (a complete grid); otherwise the view stays empty there:
    a sum over part of a dimension would pass for a total it is not.
-#}
{% macro zone_fact(cells_model, key_name, dimensions, views={}, extra_columns=[]) %}
{%- set code_lists = {
    'vehicle_category_code': 'VehicleCategories',
    'emission_class_code': 'EmissionClasses',
    'first_admission_year_code': 'FirstAdmissionYears',
    'owner_type_code': 'OwnerTypes',
    'sbi_section_code': 'SbiSections',
    'owner_region_code': 'OwnerRegions',
    'visit_day_class_code': 'VisitDayClasses',
} -%}
{%- set key_columns = ['cells.zone_code', 'cells.month_start'] -%}
{%- for dimension in dimensions %}{% do key_columns.append('cells.' ~ dimension) %}{% endfor -%}
with
{% if cells_model.startswith('stg_') %}
observations as (
    select * from {{ ref(cells_model) }}
    where {{ changed_partitions() }}
),

harmonised as (
    {{ zone_table_cells('observations', ['zone_code'] + dimensions) }}
),
{% else %}
harmonised as (
    select * from {{ ref(cells_model) }}
    where {{ changed_partitions() }}
),
{% endif %}

categories as (
    select * from {{ ref('ref_vehicle_categories') }}
),

code_list_sizes as (
    select
        {%- for dimension in dimensions %}
        count(*) filter (where code_list = '{{ code_lists[dimension] }}' and not is_total) as codes_{{ dimension }},
        {%- endfor %}
        delivery_id
    from {{ ref('stg_cbs__code_list_entries') }}
    where {{ changed_partitions() }}
    group by delivery_id
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

{#- One row per delivered combination of totals in a zone-month, with what it takes to add it up. -#}
patterns as (
    select
        cells.delivery_id,
        cells.zone_code,
        cells.month_start,
        cells.total_pattern,
        {%- for dimension in dimensions %}
        {%- set others = dimensions | reject('equalto', dimension) | list %}
        (
            bool_and(cells.{{ dimension }} = 'T001')
            or (
                count(distinct cells.{{ dimension }}) = max(code_list_sizes.codes_{{ dimension }})
                and count(*) = count(distinct cells.{{ dimension }})
                * count(distinct concat_ws('|', {{ others | map('string') | join(', ') }}))
            )
        ) as complete_over_{{ dimension }},
        {%- endfor %}
        length(cells.total_pattern) - length(replace(cells.total_pattern, 'T', '')) as totals_kept
    from cells
    left join code_list_sizes
        on cells.delivery_id = code_list_sizes.delivery_id
    group by cells.delivery_id, cells.zone_code, cells.month_start, cells.total_pattern
),
{%- for view_name, detail_dimensions in views.items() %}

{{ view_name }}_candidates as (
    select
        zone_code,
        month_start,
        total_pattern,
        totals_kept
    from patterns
    where
        {%- for dimension in dimensions %}
        {%- if dimension in detail_dimensions %}
        substr(total_pattern, {{ loop.index }}, 1) = 'D'
        {%- else %}
        complete_over_{{ dimension }}
        {%- endif %}
        {{- " and" if not loop.last }}
        {%- endfor %}
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
