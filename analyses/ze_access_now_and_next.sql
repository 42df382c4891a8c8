-- ZE-zone access: share of logistics zone entries per access status, now and at the next rule change.
-- Denominator: CBS's category totals (access_status = 'total'). is_complete = false: a lower bound.
with

access as (
    select * from {{ ref('fct_ze_access') }}
    where municipality_code = 'GM0344' and is_logistics
),

totals as (
    select
        zone_code,
        month_start,
        scenario,
        sum(passages) as total_passages
    from access
    where access_status = 'total'
    group by zone_code, month_start, scenario
),

by_status as (
    select
        zone_code,
        month_start,
        scenario,
        access_status,
        sum(passages) as passages,
        bool_and(is_complete) as is_complete
    from access
    where access_status <> 'total'
    group by zone_code, month_start, scenario, access_status
)

select
    by_status.zone_code,
    by_status.month_start,
    by_status.scenario,
    by_status.access_status,
    by_status.passages,
    by_status.is_complete,
    by_status.passages / totals.total_passages as share_of_logistics_entries
from by_status
inner join totals
    on
        by_status.zone_code = totals.zone_code
        and by_status.month_start = totals.month_start
        and by_status.scenario = totals.scenario
order by by_status.zone_code, by_status.month_start, by_status.scenario, by_status.access_status
