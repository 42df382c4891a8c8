-- Zones as delivered (v1), plus zones that legacy deliveries only name: their type and
-- start date come from the reference seed, because the legacy layout has no zone file.
with

v1_zones as (
    select * from {{ ref('stg_cbs__zones') }}
    where {{ changed_partitions() }}
),

locations as (
    select * from {{ ref('int_locations') }}
    where {{ changed_partitions() }}
),

reference_zones as (
    select * from {{ ref('ref_zones') }}
),

legacy_zones as (
    select distinct
        locations.delivery_id,
        locations.municipality_code,
        locations.month_start,
        locations.zone_code
    from locations
    where locations.source_layout = 'legacy' and locations.zone_code is not null
),

legacy_harmonised as (
    select
        legacy_zones.delivery_id,
        legacy_zones.municipality_code,
        legacy_zones.month_start,
        legacy_zones.zone_code,
        coalesce(reference_zones.zone_name, legacy_zones.zone_code) as zone_name,
        coalesce(reference_zones.zone_type, 'OVERIG') as zone_type,
        reference_zones.valid_from,
        'legacy' as source_layout
    from legacy_zones
    left join reference_zones
        on legacy_zones.zone_code = reference_zones.zone_code
),

v1_harmonised as (
    select
        delivery_id,
        municipality_code,
        month_start,
        zone_code,
        zone_name,
        zone_type,
        valid_from,
        'v1' as source_layout
    from v1_zones
),

unioned as (
    select * from v1_harmonised
    union all
    select * from legacy_harmonised
)

select * from unioned
