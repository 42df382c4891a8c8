{#-
    The total views of the zone facts (see zone_fact): per fact, the condition of CBS's grand total
    (always delivered) and its `in_view_*` flags. Used by the data test that checks no view counts a vehicle twice.
-#}
{% macro zone_fact_total_views() %}
    {{ return({
        'fct_emission_profile': {
            'grand_total': 'is_vehicle_category_total and is_emission_class_total and is_first_admission_year_total',
            'views': [
                'in_view_by_category',
                'in_view_by_emission_class',
                'in_view_by_category_emission_class',
                'in_view_by_first_admission_year',
            ],
        },
        'fct_sector_profile': {
            'grand_total': 'is_vehicle_category_total and is_owner_type_total and is_sbi_section_total',
            'views': ['in_view_by_sbi_section', 'in_view_by_category_sbi_section'],
        },
        'fct_origin_profile': {
            'grand_total': 'is_vehicle_category_total and is_owner_region_total',
            'views': ['in_view_by_owner_region'],
        },
        'fct_visit_frequency': {
            'grand_total': 'is_vehicle_category_total and is_visit_day_class_total',
            'views': ['in_view_by_visit_day_class'],
        },
    }) }}
{% endmacro %}

{#- One row per (view, delivery, zone, month): the view's rows, their vehicle sum and CBS's grand total. -#}
{% macro total_view_sums() %}
    {%- set selects = [] -%}
    {%- for model, spec in zone_fact_total_views().items() -%}
        {%- for view in spec['views'] -%}
            {%- do selects.append(
                "select '" ~ model ~ "." ~ view ~ "' as view_name, delivery_id, zone_code, month_start, "
                ~ "count(*) filter (where " ~ view ~ ") as view_rows, "
                ~ "sum(vehicles) filter (where " ~ view ~ ") as view_vehicles, "
                ~ "max(vehicles) filter (where " ~ spec['grand_total'] ~ ") as grand_total_vehicles "
                ~ "from " ~ ref(model) ~ " group by delivery_id, zone_code, month_start"
            ) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ selects | join('\nunion all\n') }}
{% endmacro %}
