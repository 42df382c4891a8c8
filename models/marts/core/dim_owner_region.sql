with

codes as (
    select * from {{ ref('ref_owner_regions') }}
)

select * from codes
