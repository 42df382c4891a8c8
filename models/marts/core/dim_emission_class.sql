with

codes as (
    select * from {{ ref('ref_emission_classes') }}
)

select * from codes
