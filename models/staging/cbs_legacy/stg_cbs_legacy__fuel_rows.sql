with

source as (
    select * from {{ source('cbs_legacy', 'cbs_legacy_brandstof') }}
),

current_deliveries as (
    select * from {{ ref('base_cbs__flowing_deliveries') }}
),

renamed as (
    select
        source.delivery_id,
        current_deliveries.municipality_code,
        current_deliveries.period_code,
        current_deliveries.period_start as month_start,
        source.line_number,
        source.locatie as location_code,
        cast(strptime(source.datum, '%d-%m-%Y') as date) as passage_date,
        source.voertuigcategorie as vehicle_category_word,
        source.diesel,
        source.benzine,
        source.elektrisch,
        source.waterstof,
        source.lpg,
        source.cng,
        source.lng,
        source.hybride,
        source.overig,
        source.onbekend,
        source.totaal
    from source
    inner join current_deliveries
        on source.delivery_id = current_deliveries.delivery_id
)

select * from renamed
