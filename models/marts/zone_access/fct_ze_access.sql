-- ZE-zone access per zone, month and vehicle category: passages and vehicles by access status,
-- under the rules in force at the start of the month ('current') and at the next rule change
-- ('next_change'). Sums are over published detail cells only: where confidential cells are inside,
-- the sum is a lower bound (is_complete = false). Rows with access_status = 'total' carry the category
-- total, the denominator for shares: CBS's own published total where the delivery holds it, otherwise
-- the sum of the finest delivered rows with their confidential cells counted (never a made-up total).
with

cells as (
    select * from {{ ref('int_ze_access_cells') }}
    where {{ changed_partitions() }}
),

category_view as (
    select * from {{ ref('fct_emission_profile') }}
    where {{ changed_partitions() }} and in_view_by_category
),

scenarios as (
    -- one row per cell and scenario: the month start, and the next rule change where one is known
    {{ ze_scenario_rows('cells') }}
),

by_status as (
    select
        delivery_id,
        municipality_code,
        period_code,
        month_start,
        zone_code,
        vehicle_category_code,
        scenario,
        rule_date,
        case scenario when 'current' then access_status_current else access_status_next end as access_status,
        cast(sum(passages) as bigint) as passages,
        cast(sum(vehicles) as bigint) as vehicles,
        count(*) as detail_cells,
        count(*) filter (where passages_status = 'confidential') as confidential_passage_cells,
        count(*) filter (where vehicles_status = 'confidential') as confidential_vehicle_cells
    from scenarios
    group by all
),

scenario_dates as (
    select distinct
        zone_code,
        month_start,
        vehicle_category_code,
        scenario,
        rule_date
    from scenarios
),

category_totals as (
    select
        category_view.delivery_id,
        category_view.municipality_code,
        category_view.period_code,
        category_view.month_start,
        category_view.zone_code,
        category_view.vehicle_category_code,
        scenario_dates.scenario,
        scenario_dates.rule_date,
        'total' as access_status,
        cast(sum(category_view.passages) as bigint) as passages,
        cast(sum(category_view.vehicles) as bigint) as vehicles,
        count(*) as detail_cells,
        count(*) filter (where category_view.passages_status = 'confidential') as confidential_passage_cells,
        count(*) filter (where category_view.vehicles_status = 'confidential') as confidential_vehicle_cells
    from category_view
    inner join scenario_dates
        on
            category_view.zone_code = scenario_dates.zone_code
            and category_view.month_start = scenario_dates.month_start
            and category_view.vehicle_category_code = scenario_dates.vehicle_category_code
    group by all
),

unioned as (
    select * from by_status
    union all
    select * from category_totals
),

categories as (
    select * from {{ ref('ref_vehicle_categories') }}
),

final as (
    select
        {{ surrogate_key([
            'unioned.zone_code',
            'unioned.month_start',
            'unioned.vehicle_category_code',
            'unioned.scenario',
            'unioned.access_status',
        ]) }}
            as ze_access_id,
        unioned.*,
        categories.is_logistics,
        unioned.confidential_passage_cells = 0 as is_complete
    from unioned
    inner join categories
        on unioned.vehicle_category_code = categories.vehicle_category_code
)

select * from final
