-- Time profile: passages per hour of day and day of week (CBS category totals).
select
    day_of_week,
    hour_of_day,
    sum(passages) as passages_at_least,
    sum(confidential_cells) as confidential_cells
from {{ ref('fct_passages_hourly') }}
where
    municipality_code = 'GM0344'
    and is_category_total
group by day_of_week, hour_of_day
order by day_of_week, hour_of_day
