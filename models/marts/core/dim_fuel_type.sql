with

codes as (
    select * from {{ ref('ref_fuel_types') }}
)

select * from codes
