with

source as (
    select * from {{ source('cbs', 'cbs_v1_code_lists') }}
),

current_deliveries as (
    select * from {{ ref('base_cbs__flowing_deliveries') }}
),

renamed as (
    select
        source.delivery_id,
        source.code_list,
        source.identifier as code,
        source.title as title_nl,
        nullif(source.description, '') as description_nl,
        source.identifier = 'T001' as is_total
    from source
    inner join current_deliveries
        on source.delivery_id = current_deliveries.delivery_id
)

select * from renamed
