with

source as (
    select * from {{ source('cbs', 'cbs_v1_locations') }}
),

current_deliveries as (
    select * from {{ ref('base_cbs__flowing_deliveries') }}
),

renamed as (
    select
        source.delivery_id,
        current_deliveries.municipality_code,
        current_deliveries.period_start as month_start,
        source.identifier as location_code,
        source.title as location_name,
        nullif(source.zoneidentifier, '') as zone_code,
        source.direction as direction_code,
        cast(source.latitude as double) as latitude,
        cast(source.longitude as double) as longitude
    from source
    inner join current_deliveries
        on source.delivery_id = current_deliveries.delivery_id
)

select * from renamed
