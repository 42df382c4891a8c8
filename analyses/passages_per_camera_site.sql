-- Locations: passages per camera site and month, with position and zone, for a map.
select
    locations.location_code,
    locations.location_name,
    locations.zone_code,
    locations.direction_code,
    locations.latitude,
    locations.longitude,
    hourly.month_start,
    sum(hourly.passages) as passages_at_least,
    sum(hourly.confidential_cells) as confidential_cells
from {{ ref('fct_passages_hourly') }} as hourly
inner join {{ ref('dim_location') }} as locations
    on hourly.location_code = locations.location_code
where
    hourly.municipality_code = 'GM0344'
    and hourly.is_category_total
group by all
order by locations.location_code, hourly.month_start
