with

days as (
    select cast(range as date) as date_day
    from range(date '2000-01-01', date '2100-01-01', interval 1 day)
),

enriched as (
    select
        date_day,
        cast(date_trunc('month', date_day) as date) as month_start,
        strftime(date_day, '%Y') || 'MM' || strftime(date_day, '%m') as period_code,
        cast(date_trunc('week', date_day) as date) as week_start,
        cast(isoyear(date_day) as integer) as iso_year,
        cast(weekofyear(date_day) as integer) as iso_week,
        cast(isodow(date_day) as integer) as day_of_week,
        ['maandag', 'dinsdag', 'woensdag', 'donderdag', 'vrijdag', 'zaterdag', 'zondag'][isodow(date_day)]
            as day_name_nl,
        ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'][isodow(date_day)]
            as day_name_en,
        isodow(date_day) >= 6 as is_weekend,
        {{ clock_hours_in_day('date_day') }} as hours_in_day,
        cast(year(date_day) as integer) as calendar_year,
        cast(month(date_day) as integer) as calendar_month
    from days
)

select * from enriched
