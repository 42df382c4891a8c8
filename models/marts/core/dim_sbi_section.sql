with

codes as (
    select * from {{ ref('ref_sbi_sections') }}
)

select * from codes
