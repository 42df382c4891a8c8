with

source as (
    {{ flowing_rows('cbs_legacy', 'cbs_legacy_locaties') }}
),

renamed as (
    select
        delivery_id,
        municipality_code,
        month_start,
        locatie as location_code,
        naam as location_name,
        nullif(zone, '') as zone_code,
        richting as direction_word,
        latitude_wgs84 as latitude,
        longitude_wgs84 as longitude,
        cast(x_rd as double) as x_rd,
        cast(y_rd as double) as y_rd
    from source
)

select * from renamed
