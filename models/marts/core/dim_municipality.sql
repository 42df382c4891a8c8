with

municipalities as (
    select * from {{ ref('ref_municipalities') }}
),

provinces as (
    select * from {{ ref('ref_provinces') }}
),

deliveries as (
    select * from {{ ref('stg_cbs__deliveries') }}
),

delivered as (
    select
        municipality_code,
        min(period_start) as first_month,
        max(period_start) as last_month,
        count(*) as current_deliveries
    from deliveries
    where is_flowing
    group by municipality_code
),

final as (
    select
        municipalities.municipality_code,
        municipalities.municipality_name,
        municipalities.province_code,
        provinces.title_nl as province_name,
        municipalities.centre_latitude,
        municipalities.centre_longitude,
        municipalities.ze_zone_start_date,
        delivered.first_month,
        delivered.last_month,
        coalesce(delivered.current_deliveries, 0) as current_deliveries
    from municipalities
    left join provinces
        on municipalities.province_code = provinces.province_code
    left join delivered
        on municipalities.municipality_code = delivered.municipality_code
)

select * from final
