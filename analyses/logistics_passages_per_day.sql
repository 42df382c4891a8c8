-- Overview: logistics passages (vans, trucks, tractor units) per day for one municipality,
-- with the number of confidential cells left out: more than 0 means the day's sum is a lower bound.
select
    passage_date,
    sum(passages) as logistics_passages_at_least,
    sum(confidential_cells) as confidential_cells
from {{ ref('fct_passages_hourly') }}
where
    municipality_code = 'GM0344'
    and is_logistics
group by passage_date
order by passage_date
