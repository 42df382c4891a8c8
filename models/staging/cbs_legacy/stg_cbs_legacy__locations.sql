with

source as (
    select * from {{ source('cbs_legacy', 'cbs_legacy_locaties') }}
),

current_deliveries as (
    select * from {{ ref('base_cbs__flowing_deliveries') }}
),

renamed as (
    select
        source.delivery_id,
        current_deliveries.municipality_code,
        current_deliveries.period_start as month_start,
        source.locatie as location_code,
        source.naam as location_name,
        nullif(source.zone, '') as zone_code,
        source.richting as direction_word,
        cast(source.x_rd as double) as x_rd,
        cast(source.y_rd as double) as y_rd,
        source.latitude_wgs84 as latitude,
        source.longitude_wgs84 as longitude
    from source
    inner join current_deliveries
        on source.delivery_id = current_deliveries.delivery_id
)

select * from renamed
