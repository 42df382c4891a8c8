with

source as (
    {{ flowing_rows('cbs', 'cbs_v1_locations') }}
),

renamed as (
    select
        delivery_id,
        municipality_code,
        month_start,
        identifier as location_code,
        title as location_name,
        nullif(zoneidentifier, '') as zone_code,
        direction as direction_code,
        cast(latitude as double) as latitude,
        cast(longitude as double) as longitude
    from source
)

select * from renamed
