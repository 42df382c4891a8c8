-- Every detail cell of the emission profile with its ZE-zone access status, at the start of
-- its month and at the next rule change after it. Rules come from the seed (enacted rows only);
-- a cell no rule covers gets its category's default status from the vehicle-category seed.
-- Both dates are looked up the same way, so the rule join is written once: each cell becomes one row per
-- scenario (`current` at the month start, `next_change` at the next change when one is known), the rules are
-- joined to those rows, and the statuses are pivoted back beside the cell (one row per cell, as the fact reads it).
with

emission_cells as (
    select * from {{ ref('int_emission_profile') }}
    where
        {{ changed_partitions(drift={
            'relation': 'int_zones', 'key': 'zone_code',
            'columns': {'zone_type': 'zone_type', 'zone_valid_from': 'valid_from'},
        }) }}
        and vehicle_category_code <> 'T001'
        and emission_class_code <> 'T001'
        and first_admission_year_code <> 'T001'
),

zones as (
    select distinct
        zone_code,
        zone_type,
        valid_from as zone_valid_from
    from {{ ref('int_zones') }}
),

rules as (
    select * from {{ ref('ref_ze_access_rules') }}
    where is_enacted
),

categories as (
    select * from {{ ref('ref_vehicle_categories') }}
),

change_dates as (
    select
        vehicle_category_code,
        valid_from as change_date
    from rules
    union
    select
        vehicle_category_code,
        cast(valid_to + interval 1 day as date) as change_date
    from rules
    where valid_to is not null
),

cells_dated as (
    select
        emission_cells.*,
        zones.zone_type,
        zones.zone_valid_from,
        case
            when emission_cells.first_admission_year_code like 'FA%'
                then cast(substr(emission_cells.first_admission_year_code, 3) as integer)
        end as first_admission_year,
        emission_cells.month_start as current_rule_date,
        least(
            (
                select min(change_dates.change_date)
                from change_dates
                where
                    change_dates.vehicle_category_code = emission_cells.vehicle_category_code
                    and change_dates.change_date > emission_cells.month_start
            ),
            case when zones.zone_valid_from > emission_cells.month_start then zones.zone_valid_from end
        ) as next_rule_date
    from emission_cells
    left join zones
        on emission_cells.zone_code = zones.zone_code
),

scenarios as (
    {{ ze_scenario_rows('cells_dated') }}
),

scenario_statuses as (
    select
        scenarios.zone_code,
        scenarios.month_start,
        scenarios.vehicle_category_code,
        scenarios.emission_class_code,
        scenarios.first_admission_year_code,
        scenarios.scenario,
        case
            when scenarios.zone_type <> 'ZE' or scenarios.rule_date < scenarios.zone_valid_from
                then 'not_applicable'
            else coalesce(rules.access_status, categories.ze_default_status)
        end as access_status,
        rules.rule_id
    from scenarios
    inner join categories
        on scenarios.vehicle_category_code = categories.vehicle_category_code
    left join rules
        on
            scenarios.vehicle_category_code = rules.vehicle_category_code
            and scenarios.emission_class_code = rules.emission_class_code
            and scenarios.first_admission_year between rules.first_admission_from and rules.first_admission_to
            and scenarios.rule_date >= rules.valid_from
            and (rules.valid_to is null or scenarios.rule_date <= rules.valid_to)
),

statuses as (
    select
        zone_code,
        month_start,
        vehicle_category_code,
        emission_class_code,
        first_admission_year_code,
        any_value(access_status) filter (where scenario = 'current') as access_status_current,
        any_value(rule_id) filter (where scenario = 'current') as rule_id_current,
        any_value(access_status) filter (where scenario = 'next_change') as access_status_next,
        any_value(rule_id) filter (where scenario = 'next_change') as rule_id_next
    from scenario_statuses
    group by zone_code, month_start, vehicle_category_code, emission_class_code, first_admission_year_code
),

with_status as (
    select
        cells_dated.*,
        statuses.access_status_current,
        statuses.rule_id_current,
        statuses.access_status_next,
        statuses.rule_id_next
    from cells_dated
    inner join statuses
        on
            cells_dated.zone_code = statuses.zone_code
            and cells_dated.month_start = statuses.month_start
            and cells_dated.vehicle_category_code = statuses.vehicle_category_code
            and cells_dated.emission_class_code = statuses.emission_class_code
            and cells_dated.first_admission_year_code = statuses.first_admission_year_code
)

select * from with_status
