with

locations as (
    select * from {{ ref('int_locations') }}
),

history as (
    select
        location_code,
        min(month_start) as first_month,
        max(month_start) as last_month
    from locations
    group by location_code
),

latest as (
    select * from locations
    qualify row_number() over (
        partition by location_code order by month_start desc, source_layout desc
    ) = 1
),

final as (
    select
        latest.location_code,
        latest.municipality_code,
        latest.location_name,
        latest.zone_code,
        latest.direction_code,
        latest.direction_code in ('IN', 'BOTH') as is_zone_entry,
        latest.latitude,
        latest.longitude,
        history.first_month,
        history.last_month
    from latest
    inner join history
        on latest.location_code = history.location_code
)

select * from final
