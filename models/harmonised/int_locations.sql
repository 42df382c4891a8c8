with

v1_locations as (
    select * from {{ ref('stg_cbs__locations') }}
    where {{ changed_partitions() }}
),

legacy_locations as (
    select * from {{ ref('stg_cbs_legacy__locations') }}
    where {{ changed_partitions() }}
),

direction_map as (
    select * from {{ ref('ref_legacy_code_map') }}
    where dimension = 'Direction'
),

legacy_harmonised as (
    select
        legacy_locations.delivery_id,
        legacy_locations.municipality_code,
        legacy_locations.month_start,
        legacy_locations.location_code,
        legacy_locations.location_name,
        legacy_locations.zone_code,
        direction_map.standard_code as direction_code,
        legacy_locations.latitude,
        legacy_locations.longitude,
        'legacy' as source_layout
    from legacy_locations
    inner join direction_map
        on legacy_locations.direction_word = direction_map.legacy_word
),

v1_harmonised as (
    select
        delivery_id,
        municipality_code,
        month_start,
        location_code,
        location_name,
        zone_code,
        direction_code,
        latitude,
        longitude,
        'v1' as source_layout
    from v1_locations
),

unioned as (
    select * from v1_harmonised
    union all
    select * from legacy_harmonised
)

select * from unioned
