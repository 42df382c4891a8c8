-- Visit frequency: unique vehicles per number of visit days, per zone and month.
-- Unique vehicles are counted per zone and month: never add them over months or zones.
select
    visit_frequency.zone_code,
    visit_frequency.month_start,
    visit_day_classes.title_nl as visit_days,
    visit_frequency.vehicles,
    visit_frequency.vehicles_status
from {{ ref('fct_visit_frequency') }} as visit_frequency
inner join {{ ref('dim_visit_day_class') }} as visit_day_classes
    on visit_frequency.visit_day_class_code = visit_day_classes.visit_day_class_code
where
    visit_frequency.municipality_code = 'GM0344'
    and visit_frequency.is_vehicle_category_total
order by visit_frequency.zone_code, visit_frequency.month_start, visit_day_classes.sort_order
