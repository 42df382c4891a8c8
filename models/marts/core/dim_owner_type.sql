with

codes as (
    select * from {{ ref('ref_owner_types') }}
)

select * from codes
