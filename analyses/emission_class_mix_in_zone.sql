-- Vehicle mix: zone entries per emission class (all categories) in each zone and month.
select
    emission_profile.zone_code,
    emission_profile.month_start,
    emission_classes.title_nl as emission_class,
    emission_profile.passages,
    emission_profile.passages_status
from {{ ref('fct_emission_profile') }} as emission_profile
inner join {{ ref('dim_emission_class') }} as emission_classes
    on emission_profile.emission_class_code = emission_classes.emission_class_code
where
    emission_profile.municipality_code = 'GM0344'
    and emission_profile.is_vehicle_category_total
    and emission_profile.is_first_admission_year_total
order by emission_profile.zone_code, emission_profile.month_start, emission_classes.sort_order
