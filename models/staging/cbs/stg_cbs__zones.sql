with

source as (
    select * from {{ source('cbs', 'cbs_v1_zones') }}
),

current_deliveries as (
    select * from {{ ref('base_cbs__flowing_deliveries') }}
),

renamed as (
    select
        source.delivery_id,
        current_deliveries.municipality_code,
        current_deliveries.period_start as month_start,
        source.identifier as zone_code,
        source.title as zone_name,
        source.zonetype as zone_type,
        cast(source.validfrom as date) as valid_from
    from source
    inner join current_deliveries
        on source.delivery_id = current_deliveries.delivery_id
)

select * from renamed
