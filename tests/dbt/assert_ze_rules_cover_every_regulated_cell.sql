-- Every emission-profile cell of a category under the ZE rules, with a known emission class and
-- first-admission year, in a ZE zone that is in force, must be covered by an enacted rule: the
-- category default ('unknown') is for unknown vehicles only. A gap in the rule seed fails here.
with

cells as (
    select * from {{ ref('int_ze_access_cells') }}
),

categories as (
    select * from {{ ref('ref_vehicle_categories') }}
),

uncovered as (
    select
        cells.zone_code,
        cells.month_start,
        cells.vehicle_category_code,
        cells.emission_class_code,
        cells.first_admission_year_code
    from cells
    inner join categories
        on cells.vehicle_category_code = categories.vehicle_category_code
    where
        categories.is_ze_regulated
        and cells.zone_type = 'ZE'
        and cells.month_start >= cells.zone_valid_from
        and cells.emission_class_code <> 'ONBK'
        and cells.first_admission_year is not null
        and cells.rule_id_current is null
)

select * from uncovered
