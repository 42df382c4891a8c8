with

source as (
    {{ flowing_rows('cbs', 'cbs_v1_zones') }}
),

renamed as (
    select
        delivery_id,
        municipality_code,
        month_start,
        identifier as zone_code,
        title as zone_name,
        zonetype as zone_type,
        cast(validfrom as date) as valid_from
    from source
)

select * from renamed
