/// The one rounding and tax rule of sales (docs/money.md, "Rounding and tax"). Pure functions.
enum Pricing {
    /// `numerator / denominator` rounded half away from zero (denominator > 0).
    static func divideRounded(_ numerator: Int64, _ denominator: Int64) -> Int64 {
        let quotient = numerator / denominator
        let remainder = numerator % denominator
        guard remainder != 0 else { return quotient }
        if 2 * abs(remainder) >= denominator { return quotient + (numerator < 0 ? -1 : 1) }
        return quotient
    }

    /// The tax of a line's net at a rate: included (part of the net) or added (on top).
    static func tax(net: Int64, rate: TaxRate?) -> Int64 {
        guard let rate, rate.rateBasisPoints > 0 else { return 0 }
        let basis = Int64(rate.rateBasisPoints)
        return rate.included ? divideRounded(net * basis, 10_000 + basis) : divideRounded(net * basis, 10_000)
    }

    /// Spreads `amount` over parts in proportion to their weights; the remainder goes one minor
    /// unit at a time to the parts in order, so the shares add up to `amount` exactly.
    static func allocate(_ amount: Int64, over weights: [Int64]) -> [Int64] {
        let total = weights.reduce(0, +)
        guard total > 0, amount > 0 else { return weights.map { _ in 0 } }
        var shares = weights.map { amount * $0 / total }
        var left = amount - shares.reduce(0, +)
        var index = 0
        while left > 0, !shares.isEmpty {
            if weights[index] > 0 {
                shares[index] += 1
                left -= 1
            }
            index = (index + 1) % shares.count
        }
        return shares
    }

    /// Prices lines: applies the sale-level discount, then tax per line.
    /// - Parameter lines: lines with quantity and unit price set (and `discountMinor` 0).
    /// - Returns: the lines with discount, net, tax and total, and the discount in minor units.
    /// - Parameter lineDiscounts: a coupon's discount already spread over the lines (one share per
    ///   line, each at most the line's gross); not together with `discount`.
    static func price(_ lines: [SaleLine], discount: CheckoutRequest.Discount?, lineDiscounts: [Int64]? = nil) throws(DomainError) -> (lines: [SaleLine], discountMinor: Int64) {
        let gross = lines.map { Int64($0.quantity) * $0.unitPriceMinor }
        let sum = gross.reduce(0, +)
        var discountMinor: Int64 = 0
        if let lineDiscounts {
            guard discount == nil else { throw DomainError(.invalidArgument, "a coupon and a manual discount do not combine") }
            guard lineDiscounts.count == lines.count, zip(lineDiscounts, gross).allSatisfy({ $0 >= 0 && $0 <= $1 }) else {
                throw DomainError(.invalidArgument, "a line's discount is between zero and the line's amount")
            }
            discountMinor = lineDiscounts.reduce(0, +)
        } else if let discount {
            if let percent = discount.percent {
                guard (0...100).contains(percent) else { throw DomainError(.invalidArgument, "a discount is 0 to 100 percent") }
                discountMinor = divideRounded(sum * Int64(percent), 100)
            } else if let amount = discount.amountMinor {
                guard amount >= 0 else { throw DomainError(.invalidArgument, "a discount cannot be negative") }
                guard amount <= sum else { throw DomainError(.invalidArgument, "the discount \(amount) is more than the lines' total \(sum)") }
                discountMinor = amount
            }
        }
        let shares = lineDiscounts ?? allocate(discountMinor, over: gross)
        var priced = lines
        for index in priced.indices {
            let net = gross[index] - shares[index]
            let tax = tax(net: net, rate: priced[index].taxRate)
            priced[index].discountMinor = shares[index]
            priced[index].netMinor = net
            priced[index].taxMinor = tax
            priced[index].totalMinor = (priced[index].taxRate?.included ?? true) ? net : net + tax
        }
        return (priced, discountMinor)
    }
}
