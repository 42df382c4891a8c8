with

codes as (
    select * from {{ ref('ref_vehicle_categories') }}
)

select * from codes
