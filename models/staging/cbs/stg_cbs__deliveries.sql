with

source as (
    select * from {{ source('cbs', 'cbs_deliveries') }}
),

renamed as (
    select
        delivery_id,
        contract,
        layout,
        municipality_code,
        municipality_name,
        period_code,
        period_start,
        period_end,
        version,
        supersedes as supersedes_delivery_id,
        produced_at,
        sdc_min_cell,
        sdc_rounding_base,
        content_sha256,
        source_path,
        row_count,
        loaded_at,
        status as delivery_status,
        superseded_by as superseded_by_delivery_id,
        superseded_at,
        status = 'current' as is_current
    from source
)

select * from renamed
