-- Every detail cell of the emission profile with its ZE-zone access status, at the start of
-- its month and at the next rule change after it. Rules come from the seed (enacted rows only);
-- a cell no rule covers gets its category's default status from the vehicle-category seed.
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

with_status as (
    select
        cells_dated.*,
        case
            when cells_dated.zone_type <> 'ZE' or cells_dated.current_rule_date < cells_dated.zone_valid_from
                then 'not_applicable'
            else coalesce(current_rule.access_status, categories.ze_default_status)
        end as access_status_current,
        current_rule.rule_id as rule_id_current,
        case
            when cells_dated.next_rule_date is null then null
            when cells_dated.zone_type <> 'ZE' or cells_dated.next_rule_date < cells_dated.zone_valid_from
                then 'not_applicable'
            else coalesce(next_rule.access_status, categories.ze_default_status)
        end as access_status_next,
        next_rule.rule_id as rule_id_next
    from cells_dated
    inner join categories
        on cells_dated.vehicle_category_code = categories.vehicle_category_code
    left join rules as current_rule
        on
            cells_dated.vehicle_category_code = current_rule.vehicle_category_code
            and cells_dated.emission_class_code = current_rule.emission_class_code
            and cells_dated.first_admission_year between current_rule.first_admission_from
            and current_rule.first_admission_to
            and cells_dated.current_rule_date >= current_rule.valid_from
            and (current_rule.valid_to is null or cells_dated.current_rule_date <= current_rule.valid_to)
    left join rules as next_rule
        on
            cells_dated.vehicle_category_code = next_rule.vehicle_category_code
            and cells_dated.emission_class_code = next_rule.emission_class_code
            and cells_dated.first_admission_year between next_rule.first_admission_from
            and next_rule.first_admission_to
            and cells_dated.next_rule_date >= next_rule.valid_from
            and (next_rule.valid_to is null or cells_dated.next_rule_date <= next_rule.valid_to)
)

select * from with_status
