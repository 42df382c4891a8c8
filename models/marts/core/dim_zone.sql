with

zones as (
    select * from {{ ref('int_zones') }}
),

reference_zones as (
    select * from {{ ref('ref_zones') }}
),

latest as (
    select
        zone_code,
        municipality_code,
        zone_name,
        zone_type,
        valid_from,
        month_start,
        source_layout
    from zones
    qualify row_number() over (
        partition by zone_code order by month_start desc, source_layout desc
    ) = 1
),

final as (
    select
        latest.zone_code,
        latest.municipality_code,
        latest.zone_name,
        latest.zone_type,
        coalesce(latest.valid_from, reference_zones.valid_from) as valid_from,
        latest.zone_type = 'ZE' as is_zero_emission_zone,
        latest.month_start as last_delivered_month
    from latest
    left join reference_zones
        on latest.zone_code = reference_zones.zone_code
)

select * from final
